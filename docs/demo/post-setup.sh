#!/usr/bin/env bash
# Runs in deploy_to after `wd setup local`.
echo "post_setup_script: $GREETING; checked out $(git rev-parse --short HEAD) in $PWD"
