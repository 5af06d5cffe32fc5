# Demarc: `demarc serve`. The image holds the code and its dependencies only: no policies, no
# principals, no PKI, no test data. Mount them (README, "Running it for real").
# The base is pinned to a release; pin its digest too where your registry mirror allows.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
# dependencies first, from pyproject.toml alone: a change to the code does not reinstall them
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-cache-dir --prefix=/install -r requirements.txt
COPY README.md ./
COPY gateway ./gateway
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM python:3.11.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /var/lib/demarc demarc \
    && mkdir -p /var/lib/demarc /etc/demarc/policies \
    && chown demarc /var/lib/demarc
COPY --from=build /install /usr/local
USER demarc
WORKDIR /var/lib/demarc
# mount the PKI at /var/lib/demarc/pki (ca.crt, server.crt, server.key, crl.pem), the principal
# registry at /var/lib/demarc/principals.yaml, and your policies at /etc/demarc/policies:
# with none mounted the gateway serves nothing (default deny) and logs that it does
ENV DEMARC_DATA_DIR=/var/lib/demarc \
    DEMARC_POLICIES_DIR=/etc/demarc/policies \
    DEMARC_PUBLIC__HOST=0.0.0.0 \
    DEMARC_INTERNAL__HOST=0.0.0.0
VOLUME ["/var/lib/demarc"]
EXPOSE 8443 9443
# the ops listener stays on the container's loopback unless DEMARC_OPS__HOST=0.0.0.0 (and
# -p 9464) lets Prometheus in; the health check runs inside the container either way
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; port = os.environ.get('DEMARC_OPS__PORT', '9464'); sys.exit(u.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["demarc"]
CMD ["serve"]
