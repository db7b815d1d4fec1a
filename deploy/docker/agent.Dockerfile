# The agent image: the self-contained runtime (jlink image + jar, bin/dev/build-dist) on a slim
# Debian, started through agent-entrypoint as uid 65532 with CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH.
# Built from the repository root (deploy/docker-compose.yml does this):
#   docker build -f deploy/docker/agent.Dockerfile -t handlewatch/agent .
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -Dfmt.skip=true -pl agent -am package \
 && bin/dev/build-dist --no-build agent

FROM debian:bookworm-slim
COPY --from=build /src/agent/target/handlewatch-agent-runtime /opt/handlewatch-agent
COPY deploy/docker/agent-entrypoint /usr/local/bin/handlewatch-agent-entrypoint
# The state directory (sequence number, disk spool) belongs to the agent's user; a named volume
# mounted here starts with this ownership.
RUN install -d -o 65532 -g 65532 -m 0700 /var/lib/handlewatch-agent
ENTRYPOINT ["/usr/local/bin/handlewatch-agent-entrypoint"]
CMD ["sample", "--proc-root", "/host/proc"]
