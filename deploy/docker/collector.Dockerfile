# The collector image: the collector tarball (bin/dev/build-dist) on a Temurin 25 JRE, as uid 65532.
# Built from the repository root (deploy/docker-compose.yml does this):
#   docker build -f deploy/docker/collector.Dockerfile -t handlewatch/collector .
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -Dfmt.skip=true -pl collector -am package \
 && bin/dev/build-dist --no-build collector

FROM eclipse-temurin:25-jre
# curl: health checks against the admin port, which listens on loopback only.
RUN apt-get update && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/collector/target/handlewatch-collector-dist /opt/handlewatch-collector
COPY deploy/docker/collector.yml /etc/handlewatch/collector.yml
USER 65532:65532
EXPOSE 9400 8080
ENTRYPOINT ["/opt/handlewatch-collector/bin/handlewatch-collector"]
CMD ["server", "/etc/handlewatch/collector.yml"]
