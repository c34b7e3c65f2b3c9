#!/bin/sh
# Fake HDBSettings.sh for benches: see fake-tool.sh.
exec "$(dirname "$0")/fake-tool.sh" HDBSettings.sh "$@"
