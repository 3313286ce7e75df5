using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Notifications;
using Sagas.Notifications.Webhooks;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Notifications;

public sealed class When_webhook_endpoints_are_configured_wrongly
{
    private const string GoodUrl = "https://hooks.example.com/sagas";

    [Theory]
    [InlineData("ftp://hooks.example.com/x")]
    [InlineData("/relative/path")]
    [InlineData("not a url")]
    public void Should_refuse_a_url_that_is_not_absolute_http(string url)
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Read(("crm", url, WebhookTestBed.Secret, [])));

        Assert.Contains("Notifications:Webhooks:0 ('crm'):Url", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "missing")]
    [InlineData("c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=", "whsec_")]
    [InlineData("whsec_not*base64!", "base64")]
    [InlineData("whsec_c2hvcnQ=", "at least 24")]
    public void Should_refuse_a_bad_secret_without_echoing_it(string secret, string reason)
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Read(("crm", GoodUrl, secret, [])));

        Assert.Contains("Notifications:Webhooks:0 ('crm'):Secret", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        if (secret.Length > 0)
            Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_unknown_event_name_listing_the_known_ones()
    {
        var error = Assert.Throws<SagasConfigurationException>(() =>
            Read(("crm", GoodUrl, WebhookTestBed.Secret, ["llm-job.finished", "llm-job.started"])));

        Assert.Contains("'llm-job.started'", error.Message, StringComparison.Ordinal);
        Assert.Contains(string.Join(", ", SagasWorkflows.Catalog.Webhooks.Events), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'llm-job.finished'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_two_endpoints_with_one_name()
    {
        var error = Assert.Throws<SagasConfigurationException>(() =>
            Read(("crm", GoodUrl, WebhookTestBed.Secret, []), ("CRM", GoodUrl, WebhookTestBed.Secret, [])));

        Assert.Contains("Notifications:Webhooks:1 ('CRM'):Name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_accept_a_good_endpoint_and_its_filter()
    {
        var options = Read(("crm", GoodUrl, WebhookTestBed.Secret, ["scan-session.failed"]));

        var endpoint = Assert.Single(options.Webhooks);
        Assert.True(endpoint.Wants("scan-session.failed"));
        Assert.False(endpoint.Wants("llm-job.finished"));
    }

    [Fact]
    public void Should_register_no_webhook_client_when_no_endpoint_is_configured()
    {
        using var provider = new ServiceCollection()
            .AddSagasNotifications(new ConfigurationBuilder().Build(), SagasWorkflows.Catalog.Webhooks.Events)
            .BuildServiceProvider();

        Assert.False(provider.GetRequiredService<NotificationsOptions>().Enabled);
        Assert.Null(provider.GetService<WebhookSender>());
    }

    [Fact]
    public void Should_cap_a_receivers_retry_after_at_the_maximum_delay()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromHours(1));
        using var soon = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        soon.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(2));

        Assert.Equal(TimeSpan.FromSeconds(30), NotificationsRegistration.RetryAfter(response, TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromSeconds(2), NotificationsRegistration.RetryAfter(soon, TimeSpan.FromSeconds(30)));
        Assert.Null(NotificationsRegistration.RetryAfter(new HttpResponseMessage(System.Net.HttpStatusCode.BadGateway), TimeSpan.FromSeconds(30)));
    }

    private static NotificationsOptions Read(params (string Name, string Url, string Secret, string[] Events)[] endpoints)
    {
        var settings = new Dictionary<string, string?>();
        for (var index = 0; index < endpoints.Length; index++)
        {
            settings[$"Notifications:Webhooks:{index}:Name"] = endpoints[index].Name;
            settings[$"Notifications:Webhooks:{index}:Url"] = endpoints[index].Url;
            settings[$"Notifications:Webhooks:{index}:Secret"] = endpoints[index].Secret;
            for (var e = 0; e < endpoints[index].Events.Length; e++)
                settings[$"Notifications:Webhooks:{index}:Events:{e}"] = endpoints[index].Events[e];
        }

        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build().ReadValidatedOptions<NotificationsOptions>(
            NotificationsOptions.SectionName, options => options.AcceptEvents(SagasWorkflows.Catalog.Webhooks.Events));
    }
}
