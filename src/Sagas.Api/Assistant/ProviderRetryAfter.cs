using System.ClientModel.Primitives;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;

namespace Sagas.Api.Assistant;

/// <summary>
/// The provider's last <c>retry-after</c> on a 429, for the 429 we answer in turn. OpenAI's SDK keeps the response on its
/// exception; Anthropic's (and so Bedrock's) does not, so <see cref="ProviderRetryAfterHandler"/> notes it as the
/// response passes, into the box <see cref="ProviderFailureChatClient"/> set for the call in flight.
/// </summary>
public static class ProviderRetryAfter
{
    private static readonly AsyncLocal<StrongBox<TimeSpan?>?> InFlight = new();

    /// <summary>Makes <paramref name="box"/> the one the calls made from here on (in this async flow) write to.</summary>
    internal static void Watch(StrongBox<TimeSpan?> box) => InFlight.Value = box;

    internal static void Saw(HttpResponseMessage response)
    {
        if (response.StatusCode == HttpStatusCode.TooManyRequests && InFlight.Value is { } box)
            box.Value = Read(response.Headers);
    }

    /// <summary><c>retry-after-ms</c> first (what SDKs wait on when both are sent), then <c>retry-after</c> in seconds or as a date.</summary>
    public static TimeSpan? Read(HttpResponseHeaders headers)
    {
        if (headers.TryGetValues("retry-after-ms", out var milliseconds) && Milliseconds(milliseconds.FirstOrDefault()) is { } fromMilliseconds)
            return fromMilliseconds;
        return headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };
    }

    public static TimeSpan? Read(PipelineResponse? response)
    {
        if (response is null)
            return null;
        if (response.Headers.TryGetValue("retry-after-ms", out var milliseconds) && Milliseconds(milliseconds) is { } fromMilliseconds)
            return fromMilliseconds;
        if (!response.Headers.TryGetValue("retry-after", out var value) || string.IsNullOrWhiteSpace(value))
            return null;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            return TimeSpan.FromSeconds(seconds);
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date - DateTimeOffset.UtcNow : null;
    }

    private static TimeSpan? Milliseconds(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0 ? TimeSpan.FromMilliseconds(ms) : null;
}

/// <summary>Notes the <c>retry-after</c> of every 429 the provider's SDK receives, retries included (the last one wins).</summary>
internal sealed class ProviderRetryAfterHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        ProviderRetryAfter.Saw(response);
        return response;
    }
}
