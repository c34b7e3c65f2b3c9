#!/bin/sh
# A stand-in for hdbnsutil, sapcontrol, HDBSettings.sh and HDB, as ../bin/fake-tool.mjs but with
# curl and jq instead of a Node.js process (whose start-up alone costs 0.2-1 s on a loaded
# machine): forwards its argv to the HANA simulator (HANASR_SIM_URL, site HANASR_SIM_SITE) and
# prints the answer with the same exit code. For benches that want hanasr's own cost apart from
# the stand-in's (bench/takeover.ts --standin sh); needs curl and jq.
# Usage (from the per-tool scripts): fake-tool.sh TOOL ARG...
tool=$1
shift
if [ -z "$HANASR_SIM_URL" ] || [ -z "$HANASR_SIM_SITE" ]; then
  echo "$tool: HANASR_SIM_URL and HANASR_SIM_SITE must be set" >&2
  exit 2
fi
ms=${HANASR_SIM_TIMEOUT_MS:-600000}
timeout_s=$((ms / 1000)).$(printf '%03d' $((ms % 1000)))
# Every argument reaches jq as the value of --arg (never read as a jq option, whatever it starts with).
n=0
filter=''
for a in "$tool" "$@"; do
  set -- "$@" --arg "a$n" "$a"
  filter="$filter\$a$n,"
  n=$((n + 1))
done
shift $((n - 1))
body=$(jq -n --arg site "$HANASR_SIM_SITE" "$@" "{site: \$site, argv: [${filter%,}]}") || exit 1
response=$(curl -s --max-time "$timeout_s" -H 'content-type: application/json' --data-binary "$body" \
  "${HANASR_SIM_URL%/}/run") || { echo "$tool: simulator unreachable (curl exit code $?)" >&2; exit 1; }
code=$(printf '%s' "$response" | jq -r 'if (.exitCode | type) == "number" then .exitCode else "error" end' 2>/dev/null)
case $code in
  '' | error | *[!0-9]*)
    echo "$tool: simulator error: $(printf '%s' "$response" | jq -r '.error // "bad answer"' 2>/dev/null)" >&2
    exit 1
    ;;
esac
printf '%s' "$response" | jq -j '.stdout // ""'
printf '%s' "$response" | jq -j '.stderr // ""' >&2
exit "$code"
