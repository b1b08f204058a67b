// `wd init`: a commented starter config showing every key.
export const STARTER = `# deploy.yml for wd (whiskey_disk compatible). One entry per environment.
# Run: wd setup staging   (once per host), then: wd deploy staging
# Every key is shown; the commented ones are optional. Docs: docs/configuration.md

staging:
  # Hosts: user@host[:port], a list of them, or maps with roles and ssh_options.
  # Leave domain out (or write 'local') to deploy on this machine without SSH.
  domain:
    - name: deploy@staging1.example.com
      roles: [web, db]
      # OpenSSH-style options understood by wd's built-in client:
      # -p PORT, -l USER, -i KEY, -F FILE, -J JUMP, -A, -o Name=value
      ssh_options: ["-i", "~/.ssh/deploy_key"]
    - name: deploy@staging2.example.com:2222
      roles: web

  # Where the checkout lives on each host (~/ is the login user's home there).
  deploy_to: /var/www/app
  repository: git@github.com:example/app.git
  branch: main                                # default: master

  # Bash scripts run after setup / deploy, in deploy_to. Relative paths are inside deploy_to.
  # In them: WD_ROLES, wd_role web, wd_changed db/migrate, WD_CHANGED_FILES, WD_REVISION.
  post_setup_script: script/post-setup.sh
  post_deploy_script: script/post-deploy.sh

  # Environment variables for the post scripts (alias: env).
  rake_env:
    RAILS_ENV: staging

  # Optional configuration repository, checked out beside the app and rsynced over it
  # from its <config_target>/ directory.
  # deploy_config_to: /var/www/app-config
  # config_repository: git@github.com:example/app-config.git
  # config_branch: master                     # default: master
  # config_target: staging                    # default: the environment name

  # Informational project name (default: from --to=project:env).
  # project: app

  # wd additions (not in whiskey_disk):
  # ssh_options: ["-o", "ConnectTimeout=10"]   # for every host of this environment
  # deploy_on_push: true                       # deployed by 'wd hook post-receive'

local:
  # Deploy on this machine: a checkout in ./tmp/app of the repository in this directory.
  deploy_to: tmp/app
  repository: .
  branch: main
`;
