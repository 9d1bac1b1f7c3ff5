#!/usr/bin/env bash
# Builds the file tree every outboxkit container image (the relay's, the sample apps') adds to its
# application layers (Jib's extraDirectories), without a Docker daemon or a base image to pull.
# One script, one module list: each module's `image-runtime` step (parent pom) runs it into its own
# target/image-root, and the identical runtime layer is stored once by a registry or Docker.
#
#   <out>/opt/java             a Java runtime made by jlink from the build's JDK: only the modules
#                              in MODULES, with the JDK's class-data archive (faster start)
#   <out>/lib*/…, <out>/usr/…  the host's shared libraries that runtime loads (ldd: glibc, zlib, …)
#   <out>/etc/passwd, group    the image's non-root user, outboxkit (uid and gid 65532);
#   <out>/etc/nsswitch.conf    host names from /etc/hosts, then DNS
#   <out>/tmp                  world-writable with the sticky bit (mode set by Jib)
#   <out>/opt/outboxkit/probe  the health check command (probe/…/HealthProbe.java, compiled here)
#
#   infra/image/runtime.sh <java.home of the build's JDK> <out>
#
# Reruns with the same JDK, module list and script reuse <out> (stamp <out>.stamp): a rebuild costs
# nothing. The tree is built once, in infra/image/target/runtime, and copied to each <out>.
set -euo pipefail
java_home=$1
out=$2

# The modules the relay, the sample apps and their libraries use (checked by the relay's
# ContainerImageIT and the meter app's MeterImageIT, which start them from their images): java.compiler for javax.lang.model (Debezium), jdk.unsupported for Netty and Kafka, jdk.crypto.ec for TLS, java.desktop for
# java.beans (SnakeYAML), jdk.management for the JVM metrics, jdk.jfr for Micronaut's HTTP server, java.security.jgss/sasl for pgjdbc.
MODULES=java.base,java.compiler,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.security.sasl,java.sql,java.xml,java.desktop,jdk.unsupported,jdk.crypto.ec,jdk.management,jdk.zipfs,jdk.charsets,jdk.localedata,jdk.jfr,java.instrument,java.scripting,java.rmi,jdk.naming.dns

here=$(cd "$(dirname "$0")" && pwd)
probe_src="$here/probe/io/outboxkit/probe/HealthProbe.java"
stamp="$("$java_home/bin/java" -version 2>&1 | head -2 | tr '\n' ' ') $MODULES $(cksum <"$0") $(cksum <"$probe_src")"
if [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
  exit 0
fi
rm -rf "$out" "$out.stamp"

# The three images share one tree, built once per build under infra/image/target and copied into
# each module's <out> (jlink with its class-data archive is most of a minute on a 2-core machine).
shared="$here/target/runtime"
if [ "$out" != "$shared" ]; then
  bash "$0" "$java_home" "$shared"
  cp -a "$shared" "$out"
  echo "$stamp" >"$out.stamp"
  exit 0
fi
mkdir -p "$out/opt" "$out/etc" "$out/tmp"

"$java_home/bin/jlink" --add-modules "$MODULES" --output "$out/opt/java" \
  --strip-debug --no-header-files --no-man-pages --include-locales=en,de \
  --generate-cds-archive

# The relay is headless: java.desktop is here for java.beans only. Its native parts for windows,
# sound, fonts and images would pull X11, ALSA and font libraries into the image: drop them.
for lib in libawt_xawt.so libawt_headless.so libjawt.so libsplashscreen.so libjsound.so \
  libfontmanager.so liblcms.so libjavajpeg.so libmlib_image.so; do
  rm -f "$out/opt/java/lib/$lib"
done

# A distribution's JDK may link its trust store to a file outside the JDK (Debian:
# /etc/ssl/certs/java/cacerts): jlink copies the link, so copy what it points at.
cacerts="$out/opt/java/lib/security/cacerts"
if [ -L "$cacerts" ] || [ ! -s "$cacerts" ]; then
  src=$(readlink -f "$java_home/lib/security/cacerts" || true)
  rm -f "$cacerts"
  if [ -n "$src" ] && [ -s "$src" ]; then cp "$src" "$cacerts"; fi
fi
# No symbolic links out of the runtime may remain: the image has nothing they could point at.
if find "$out/opt/java" -type l | grep -q .; then
  find "$out/opt/java" -type l -exec sh -c 'cp --remove-destination "$(readlink -f "$1")" "$1"' _ {} \;
fi

# Shared libraries: whatever the runtime's executables and libraries load, and the dynamic loader,
# copied from the host under their own paths (links resolved, so no link dangles in the image).
libs=$(find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' \) -exec ldd {} \; 2>/dev/null |
  awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
for lib in $libs; do
  [ -e "$lib" ] || continue
  case "$lib" in "$out"/*) continue ;; esac
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
test -n "$(ls "$out"/lib*/ld-linux* "$out"/lib*/*/ld-linux* 2>/dev/null)" || {
  echo "runtime.sh: found no dynamic loader among the libraries of $out/opt/java (ldd missing?)" >&2
  exit 1
}

cat >"$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
outboxkit:x:65532:65532:outboxkit:/tmp:/sbin/nologin
PASSWD
cat >"$out/etc/group" <<'GROUP'
root:x:0:
outboxkit:x:65532:
GROUP

# The health check command: the images have no shell or curl (see HealthProbe's javadoc).
"$java_home/bin/javac" --release 17 -nowarn -d "$out/opt/outboxkit/probe" "$probe_src"

# Names from /etc/hosts first (the runtime writes it), then DNS; glibc's default is the reverse.
echo 'hosts: files dns' >"$out/etc/nsswitch.conf"

echo "$stamp" >"$out.stamp"
