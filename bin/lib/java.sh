# Sourced by handlewatch's scripts: finds a JDK 25 or newer and builds the project when needed.
# Order: $JAVA_HOME, then /usr/lib/jvm/*25* (and newer), then the java on PATH.

hw_java_major() { # $1 = path to a java binary; prints its feature version, e.g. 25
  "$1" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2; exit}'
}

hw_find_java_home() {
  local candidates=() c v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for c in /usr/lib/jvm/*; do
    case "$(basename "$c")" in *2[5-9]*|*3[0-9]*) candidates+=("$c") ;; esac
  done
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] || continue
    v=$(hw_java_major "$c/bin/java")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$c"
      return 0
    fi
  done
  echo "handlewatch needs a JDK 25 or newer and found none (looked at JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm/*25*, and java on PATH)." >&2
  echo "Install Temurin 25 (https://adoptium.net) or your distribution's openjdk-25-jdk, or set JAVA_HOME to one." >&2
  return 1
}

hw_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

hw_ensure_built() { # $1 = jar that must exist, $2 = its module (agent, collector)
  local root module; root=$(hw_root); module=${2:-agent}
  if [ ! -f "$1" ] || [ -n "$(find "$root/$module/src" "$root/$module/pom.xml" "$root/proto/src" "$root/pom.xml" -newer "$1" -print -quit 2>/dev/null)" ]; then
    echo "handlewatch: building (mvn install, tests skipped) ..." >&2
    # Maven 3.8 with a JDK 25 writes terminal reset codes (ESC[0m) even in batch mode without
    # colour: its output goes to a file, and only a failure shows its end, codes removed.
    local out; out=$(mktemp)
    if ! (cd "$root" && JAVA_HOME="$HW_JAVA_HOME" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" mvn -B -q -Dstyle.color=never -DskipTests -Dfmt.skip=true install >"$out" 2>&1); then
      echo "handlewatch: build failed; the end of its output (run 'mvn -B install' in $root for all):" >&2
      sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out" | tail -n 30 >&2
      rm -f "$out"
      return 1
    fi
    rm -f "$out"
  fi
}
