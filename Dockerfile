# The dichvucong image for docker-compose.yml: one image, three roles
# (`dichvucong worker`, `dichvucong api`, `dichvucong migrate` / `seed`).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY dichvucong ./dichvucong
# The versions the test suite passed with (constraints.txt), not whatever PyPI has today.
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /data dichvucong \
    && mkdir -p /data/documents && chown -R dichvucong /data

USER dichvucong
VOLUME ["/data/documents"]
EXPOSE 8000
CMD ["dichvucong", "api"]
