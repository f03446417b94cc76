#!/bin/sh
# Compiles every .java file under the given folders (SWIG's output is known
# only after SWIG runs). usage: javac.sh JAVAC OUT_DIR CLASSPATH DIR...
set -eu
javac=$1 out=$2 cp=$3
shift 3
exec "$javac" -Xlint:all,-serial -Werror -encoding UTF-8 -d "$out" -cp "$cp" $(find "$@" -name '*.java' | sort)
