# Demarc: `demarc serve` with the same dependencies as `make test` installs.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/demarc demarc \
    && mkdir -p /var/lib/demarc /etc/demarc/policies \
    && chown demarc /var/lib/demarc
COPY --from=build /install /usr/local
COPY policies /etc/demarc/policies
USER demarc
WORKDIR /var/lib/demarc
# mount the PKI at /var/lib/demarc/pki (ca.crt, server.crt, server.key), the principal
# registry at /var/lib/demarc/principals.yaml, and your policies over /etc/demarc/policies
ENV DEMARC_DATA_DIR=/var/lib/demarc \
    DEMARC_POLICIES_DIR=/etc/demarc/policies \
    DEMARC_PUBLIC__HOST=0.0.0.0 \
    DEMARC_INTERNAL__HOST=0.0.0.0
VOLUME ["/var/lib/demarc"]
EXPOSE 8443 9443
ENTRYPOINT ["demarc"]
CMD ["serve"]
