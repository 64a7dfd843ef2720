"""Real test nodes for pulumi_pyrke's tests: Docker-in-Docker containers with sshd and dockerd
(nodes.py, nodes.sh, build-node-image.sh, image/), SSH test keys (keys.py) and the pytest
plugin that hands them to tests (fixtures.py). See "Test nodes" in the README."""
