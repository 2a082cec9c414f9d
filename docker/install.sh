#!/bin/sh
# Install the glasses wheel with the locked dependencies and add the unprivileged user: the one
# recipe both image targets run, whatever their base.
set -eu
python3 -m pip install --no-cache-dir --constraint /tmp/requirements.lock /tmp/wheels/*.whl
rm -rf /tmp/wheels /tmp/requirements.lock /tmp/install.sh
useradd --create-home --uid 10001 glasses
mkdir -p /tmp/matplotlib /tmp/keras && chmod 1777 /tmp/matplotlib /tmp/keras
