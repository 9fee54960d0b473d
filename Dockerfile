# The pipeline image used by the compose stack (services setup, pipeline, alerts).
FROM python:3.11-slim

# curl: healthchecks and the setup script's calls to Elasticsearch.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/pipeline
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY grok_patterns ./grok_patterns
COPY dashboards ./dashboards
COPY docker ./docker
COPY examples ./examples
# grok_patterns/ and dashboards/ are installed as data files under share/pipeline/ (pipeline/resources.py).
RUN pip install --no-cache-dir '.[geolite2,azure]'

RUN useradd --system --home /var/lib/pipeline pipeline \
    && mkdir -p /var/lib/pipeline /etc/pipeline \
    && chown -R pipeline /var/lib/pipeline
USER pipeline
VOLUME ["/var/lib/pipeline"]
EXPOSE 5044 9600

ENTRYPOINT ["pipeline"]
CMD ["run", "-f", "/etc/pipeline/pipeline.conf", "--path.data", "/var/lib/pipeline", "--api.http.host", "0.0.0.0"]
