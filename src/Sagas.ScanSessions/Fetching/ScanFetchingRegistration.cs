using System.Net;
using System.Net.Sockets;
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
        services.TryAddTransient<IScanFileFetcher, ScanFileFetcher>();
        return services;
    }

    internal static SocketsHttpHandler CreateHandler(ScanFetchingOptions options) => new()
    {
        AllowAutoRedirect = options.MaxRedirects > 0,
        MaxAutomaticRedirections = Math.Max(1, options.MaxRedirects),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        // An abandoned (too large) body closes the connection instead of being drained from a possibly hostile server.
        MaxResponseDrainSize = 0,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = options.AllowPrivateNetworks ? null : ConnectToPublicAddressAsync,
    };

    /// <summary>Resolves the host itself and connects only to public addresses; runs for every redirect hop too.</summary>
    private static async ValueTask<Stream> ConnectToPublicAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(PrivateNetworkGuard.IsPublic).ToArray();
        if (allowed.Length == 0)
            throw new PrivateNetworkAddressException(host);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

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
