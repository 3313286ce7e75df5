using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Fetching.GoogleDrive;

namespace Sagas.ScanSessions.Fetching;

public static class ScanFetchingRegistration
{
    /// <summary>
    /// <see cref="IScanFileFetcher"/>, the Drive client, the guarded URL client and <see cref="S3PrefixLister"/>.
    /// Needs <c>AddSagasBlobStore</c> (blob store and S3 client). Settings are checked now.
    /// </summary>
    public static IServiceCollection AddScanFileFetching(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ScanFetchingOptions)))
            return services;

        services.AddValidatedOptions<ScanFetchingOptions>(configuration, ScanFetchingOptions.SectionName);
        var options = configuration.ReadValidatedOptions<ScanFetchingOptions>(ScanFetchingOptions.SectionName);
        services.AddGoogleDriveClient(configuration);

        services.AddHttpClient<UrlFileFetcher>(UrlFileFetcher.HttpClientName, client =>
            {
                // The fetcher's per-file token bounds the whole download.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Sagas-Scan/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(() => CreateHandler(options))
            .AddResilienceHandler("scan-url", pipeline =>
            {
                if (options.UrlMaxRetries == 0)
                    return;
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.UrlMaxRetries,
                    Delay = options.UrlRetryBaseDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    MaxDelay = TimeSpan.FromSeconds(10),
                    ShouldHandle = args => ValueTask.FromResult(
                        HttpClientResiliencePredicates.IsTransient(args.Outcome) && FindPrivateNetworkRefusal(args.Outcome.Exception) is null),
                });
            });

        services.TryAddSingleton<S3PrefixLister>();
        services.TryAddSingleton<BlobReadRetry>();
        services.TryAddTransient<IScanFileFetcher, ScanFileFetcher>();
        return services;
    }

    /// <summary>
    /// The scan URL client's handler. With the guard on (the default) it never goes through a proxy: through one, the
    /// worker connects to the proxy and never sees the address the proxy reaches, so the guard would check the proxy
    /// instead of the target. The environment's proxy is used only when asked for together with
    /// <see cref="ScanFetchingOptions.AllowPrivateNetworks"/> (the proxy is then the one to refuse internal targets).
    /// </summary>
    internal static SocketsHttpHandler CreateHandler(ScanFetchingOptions options, GuardedConnector? connector = null) => new()
    {
        AllowAutoRedirect = options.MaxRedirects > 0,
        MaxAutomaticRedirections = Math.Max(1, options.MaxRedirects),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        UseProxy = options.AllowPrivateNetworks && options.UseEnvironmentProxy,
        // An abandoned (too large) body closes the connection instead of being drained from a possibly hostile server.
        MaxResponseDrainSize = 0,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = options.AllowPrivateNetworks ? null : (connector ?? GuardedConnector.Public).ConnectAsync,
    };

    private static PrivateNetworkAddressException? FindPrivateNetworkRefusal(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is PrivateNetworkAddressException refusal)
                return refusal;
        }

        return null;
    }
}
