"""SSH and Docker-over-SSH transport and host fact gathering (arrives with the hosts issue)."""
