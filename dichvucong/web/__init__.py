"""Server-rendered pages: templating, sessions, CSRF, security headers."""
