using System.Net;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Sagas.Core.Configuration;
using Sagas.Modules.Webhooks;
using Sagas.Notifications.Webhooks;
using Sagas.Persistence.Retention;

namespace Sagas.Notifications;

public static class NotificationsRegistration
{
    /// <summary>The assembly whose entity configuration adds <c>webhook_deliveries</c> to the database model.</summary>
    public static System.Reflection.Assembly ModelAssembly => typeof(NotificationsRegistration).Assembly;

    /// <summary>
    /// The options, read and validated now (a bad URL, secret or event name stops start-up in every process), and, when
    /// any endpoint is configured, the publisher workflows raise events through and the signing webhook client behind its
    /// retry pipeline.
    /// </summary>
    /// <param name="knownEvents">The webhook events the registered workflows send.</param>
    public static IServiceCollection AddSagasNotifications(this IServiceCollection services, IConfiguration configuration, IReadOnlyList<string> knownEvents)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(NotificationsOptions)))
            return services;

        services.AddValidatedOptions<NotificationsOptions>(configuration, NotificationsOptions.SectionName, options => options.AcceptEvents(knownEvents));
        var options = Read(configuration, knownEvents);
        // Rows outlive an endpoint's removal from configuration: the log and its retention are there either way.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddScoped<WebhookDeliveryLog>();
        services.AddRetentionRule<WebhookDeliveriesRetention>(
            WebhookDeliveriesRetention.Name, 30, "webhook_deliveries rows made before (a copy of an event older than this would be posted again)");
        if (!options.Enabled)
            return services;

        var client = services.AddHttpClient(WebhookSender.HttpClientName, http =>
            {
                // The pipeline's attempt timeout bounds each POST.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.UserAgent.ParseAdd("Sagas-Webhooks/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // A redirected POST would turn into a GET without the body: a redirect is a configuration error to see.
                AllowAutoRedirect = false,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = options.AttemptTimeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        client.AddResilienceHandler("webhooks", pipeline =>
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
                        // Our own Retry-After reading (below) caps the receiver's wish at MaxRetryDelay.
                        ShouldRetryAfterHeader = false,
                        DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options.MaxRetryDelay)),
                    });
                }

                pipeline.AddTimeout(options.AttemptTimeout);
            });
        // Added after the pipeline, so it runs inside it and sees each retry.
        client.AddHttpMessageHandler(() => new WebhookAttemptCounter());
        services.TryAddSingleton<WebhookSender>();
        services.TryAddSingleton<IWebhookPublisher, WebhookPublisher>();
        return services;
    }

    /// <summary>
    /// The consumers of the <c>notifications</c> role: the workflows' webhook event consumers on one queue and the
    /// delivery consumer; nothing at all without endpoints.
    /// </summary>
    public static IBusRegistrationConfigurator AddNotificationWorkers(this IBusRegistrationConfigurator x, IConfiguration configuration, WebhookRegistry webhooks)
    {
        if (!Read(configuration, webhooks.Events).Enabled)
            return x;
        foreach (var consumer in webhooks.Consumers)
            x.AddConsumer(consumer, typeof(WebhookEventConsumerDefinition<>).MakeGenericType(consumer));
        x.AddConsumer<DeliverWebhookConsumer, DeliverWebhookConsumerDefinition>();
        return x;
    }

    private static NotificationsOptions Read(IConfiguration configuration, IReadOnlyList<string> knownEvents) =>
        configuration.ReadValidatedOptions<NotificationsOptions>(NotificationsOptions.SectionName, options => options.AcceptEvents(knownEvents));

    /// <summary>A 429/503's Retry-After (seconds or a date), capped; null lets the backoff decide.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeSpan cap)
    {
        var header = response?.Headers.RetryAfter;
        if (header is null)
            return null;
        var wait = header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        if (wait is not { } delay)
            return null;
        if (delay < TimeSpan.Zero)
            return TimeSpan.Zero;
        return delay > cap ? cap : delay;
    }
}
