#!/usr/bin/env bash
# Keeps the translation catalogues in step with the code (see "Languages and branding" in the README).
#
#   bash scripts/catalogues.sh            extract every marked text into messages.pot and merge
#                                         it into each language's messages.po
#   bash scripts/catalogues.sh init it    start a catalogue for a new language
#
# Translators then fill in the empty (and fuzzy) msgstr entries; tests/test_i18n.py fails while
# any is missing. No compile step: streamsrv compiles the .po files in memory when it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
LOCALE_DIR=streamsrv/locale
POT="$LOCALE_DIR/messages.pot"

"$PYBABEL" extract -F babel.cfg --no-location --sort-output --project streamsrv \
  --copyright-holder "streamsrv contributors" -o "$POT" .

if [ "${1:-}" = "init" ]; then
  "$PYBABEL" init -i "$POT" -d "$LOCALE_DIR" -l "${2:?name the language, e.g. init it}"
  exit 0
fi
"$PYBABEL" update -i "$POT" -d "$LOCALE_DIR" --ignore-obsolete --no-wrap
