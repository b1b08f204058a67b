#!/usr/bin/env bash
# Runs in deploy_to after `wd deploy local`. wd_changed and wd_role come from wd.
echo "post_deploy_script: $GREETING; now at $(git rev-parse --short HEAD) (was ${WD_PREVIOUS_REVISION:0:7})"
if wd_changed src; then echo "src/ changed: a real app would rebuild here"; else echo "src/ unchanged: nothing to rebuild"; fi
