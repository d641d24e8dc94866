# Reelay in a container: built from source in the SDK image, run as a non-root user in the ASP.NET
# Core runtime image with ffmpeg (the local renderer, probes and thumbnails), the caption fonts, and
# curl for the health check.
# docker build -t reelay . && docker run -p 8080:8080 -v reelay-data:/data reelay
# Settings are REELAY_* variables (README, Configuration); deploy/compose.yaml runs several instances.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, on the project files alone, so the layer is reused while only code changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Reelay.Providers/Reelay.Providers.csproj src/Reelay.Providers/
COPY src/Reelay.Server/Reelay.Server.csproj src/Reelay.Server/
RUN dotnet restore src/Reelay.Server/Reelay.Server.csproj
COPY src/ src/
RUN dotnet publish src/Reelay.Server/Reelay.Server.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-wqy-zenhei fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 reelay \
 && useradd --system --uid 10001 --gid reelay --home-dir /data --no-create-home reelay \
 && mkdir -p /data && chown reelay:reelay /data
WORKDIR /app
COPY --from=build /app ./
COPY deploy/entrypoint.sh /usr/local/bin/reelay-entrypoint
USER 10001:10001
ENV REELAY_URLS=http://0.0.0.0:8080 \
    REELAY_DATA_DIR=/data \
    DOTNET_gcServer=1
VOLUME /data
EXPOSE 8080
# Liveness only (the process answers); /readyz, which checks each backend, is for load balancers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/reelay-entrypoint"]
