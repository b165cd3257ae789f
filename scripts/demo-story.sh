#!/usr/bin/env bash
# The demo story, run inside a bench by scripts/demo.sh. Grows with the project.
set -euo pipefail
echo "A virtual PIV card is in reader \"$CVQ_READER_0\":"
opensc-tool -l
