#!/usr/bin/env bash
# Installs the independent tools the interoperability tests compare against:
# zint and dmtx-utils (other DataMatrix encoders/decoders), headless Chromium
# (renders the HTML batch record), and a Python
# virtualenv with zxing-cpp (another decoder) and pymodbus (a Modbus/TCP peer
# nobody here wrote), and tmux (a terminal for the console test). Idempotent;
# safe to run again. Tests find the venv at target/pyvenv and skip what is
# missing, except under CI=true, where a missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v zint >/dev/null 2>&1 || need_apt+=(zint)
command -v dmtxread >/dev/null 2>&1 || need_apt+=(dmtx-utils)
command -v xmllint >/dev/null 2>&1 || need_apt+=(libxml2-utils)
command -v mbpoll >/dev/null 2>&1 || need_apt+=(mbpoll)
# Headless Chromium renders the HTML batch record (tests/batch_record_browser.rs).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
   && ! command -v google-chrome >/dev/null 2>&1; then
  need_apt+=(chromium)
fi
# tmux: the console test types into `serialstation console` in a tmux pane.
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
fi

venv=target/pyvenv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# jsonschema validates EPCIS 2.0 documents against the official JSON schema;
# epcis-event-hash-generator is the reference implementation of the CBV 2.0
# event hash (pinned: a test records this version's behaviour).
"$venv/bin/python" -c 'import zxingcpp, pymodbus, PIL, numpy, jsonschema, epcis_event_hash_generator' 2>/dev/null || \
  "$venv/bin/pip" install -q zxing-cpp pymodbus==3.16.1 pillow numpy jsonschema==4.26.0 epcis-event-hash-generator==1.9.3
# One venv serves every test; the Modbus tests also look for it under this name.
[ -e target/pyvenv-modbus ] || ln -s pyvenv target/pyvenv-modbus
# QU4RTET (SerialBox, quartet-capture, quartet-epcis) for the real-site-server
# test: its own venv, target/qu4rtet-venv (about 30 s the first time, cached).
bash tests/qu4rtet/run.sh install
