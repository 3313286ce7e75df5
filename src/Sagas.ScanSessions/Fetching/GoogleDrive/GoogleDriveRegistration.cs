using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Refit;
using Sagas.Core.Configuration;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

public static class GoogleDriveRegistration
{
    /// <summary>
    /// The Refit Drive client behind a resilience pipeline (retry with exponential backoff and jitter, honouring
    /// Retry-After up to <see cref="GoogleDriveOptions.MaxRetryDelay"/>, and a per-attempt timeout), plus
    /// <see cref="GoogleDriveClient"/>. Settings come from <c>ScanSessions:Drive</c> and are checked now.
    /// No circuit breaker: tokens are per user, and one user's revoked token must not stop everyone's scans.
    /// </summary>
    public static IServiceCollection AddGoogleDriveClient(this IServiceCollection services, IConfiguration configuration)
    {
        // Several feature registrations may ask for the client; the HTTP pipeline must be built once.
        if (services.Any(descriptor => descriptor.ServiceType == typeof(GoogleDriveOptions)))
            return services;

        services.AddValidatedOptions<GoogleDriveOptions>(configuration, GoogleDriveOptions.SectionName);
        var options = configuration.ReadValidatedOptions<GoogleDriveOptions>(GoogleDriveOptions.SectionName);

        services.AddRefitGeneratedClient<IGoogleDriveApi>(DriveJsonContext.Default)
            .ConfigureHttpClient(client =>
            {
                client.BaseAddress = new Uri(options.BaseUrl);
                // The pipeline's attempt timeout bounds each call; the caller's token bounds the body download.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddResilienceHandler("google-drive", pipeline =>
            {
                if (options.MaxRetries > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = options.MaxRetries,
                        Delay = options.RetryBaseDelay,
                        MaxDelay = options.MaxRetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        ShouldHandle = args => ShouldRetryAsync(args.Outcome),
                    });
                }

                pipeline.AddTimeout(options.AttemptTimeout);
            });
        services.TryAddTransient<GoogleDriveClient>();
        return services;
    }

    internal static async ValueTask<bool> ShouldRetryAsync(Outcome<HttpResponseMessage> outcome)
    {
        if (HttpClientResiliencePredicates.IsTransient(outcome))
            return true;
        if (outcome.Result is not { StatusCode: System.Net.HttpStatusCode.Forbidden } response)
            return false;

        // Buffered so the caller can still read the body when this 403 is not retried.
        await response.Content.LoadIntoBufferAsync();
        return DriveErrors.IsRetryableRateLimit(await response.Content.ReadAsStringAsync());
    }
}
