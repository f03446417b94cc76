#!/bin/sh
# Prints the first fenced code block of a language after a README heading.
# usage: extract.sh README HEADING_REGEX FENCE_LANGUAGE
awk -v heading="$2" -v fence="$3" '
  $0 ~ heading { on = 1 }
  on && $0 == "```" fence { grab = 1; next }
  grab && $0 == "```" { exit }
  grab { print }' "$1"
