using System.Net.Http.Headers;
using System.Text.Json;
using Polly.Timeout;
using Sagas.Core.Http;
using Sagas.Modules.Usage;

namespace Sagas.PromptAnalyses.Platforms.Http;

/// <summary>
/// The request/response cycle shared by the Refit-based platforms: one request, timing, rate-limit headers, error
/// classification and parsing, with every failure mapped to a <see cref="PlatformCallException"/>.
/// </summary>
internal abstract class HttpAnalysisPlatform : IAnalysisPlatform
{
    private readonly RealPlatformOptions _options;
    private readonly PriceTable _prices;
    private readonly TimeProvider _time;

    protected HttpAnalysisPlatform(RealPlatformOptions options, PriceTable prices, TimeProvider time)
    {
        _options = options;
        _prices = prices;
        _time = time;
    }

    public abstract string Name { get; }

    public bool IsSimulated => false;

    public string DefaultModel => _options.Model;

    public async Task<PlatformAnswer> AskAsync(string prompt, string? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        var modelToAsk = string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim();
        using var activity = PlatformCall.StartActivity(Name, modelToAsk);
        var started = _time.GetTimestamp();

        HttpResponseMessage response;
        string body;
        try
        {
            response = await SendAsync(prompt, modelToAsk, cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The caller cancelled the platform call.", ex, cancellationToken);
        }
        catch (Exception ex) when (Chain(ex).Any(inner => inner is TimeoutRejectedException or OperationCanceledException))
        {
            // Refit wraps transport failures in ApiRequestException; what happened is in the chain.
            throw Fail(PlatformErrorKind.Timeout, true, $"No answer within {_options.TimeoutSeconds}s.", ex);
        }
        catch (Exception ex) when (Chain(ex).OfType<HttpRequestException>().FirstOrDefault() is { } network)
        {
            throw Fail(PlatformErrorKind.Network, true, network.Message, ex);
        }

        using (response)
        {
            var elapsed = _time.GetElapsedTime(started);
            var now = _time.GetUtcNow();
            var rateLimit = ParseRateLimit(name => Header(response, name), now);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var (kind, transient) = PlatformCall.ClassifyStatus(status);
                var failure = ClassifyFailure(status, kind, transient, body);
                throw PlatformCall.Failure(
                    Name, modelToAsk, failure.Kind, failure.Transient, failure.Message, rateLimit, elapsed, activity,
                    status, failure.Code, failure.RetryAfter, _options.ApiKey);
            }

            ProviderReply reply;
            try
            {
                reply = ParseReply(body, modelToAsk);
            }
            catch (ProviderReplyFailure ex)
            {
                throw PlatformCall.Failure(
                    Name, modelToAsk, ex.Kind, ex.IsTransient, ex.Message, rateLimit, elapsed, activity,
                    (int)response.StatusCode, ex.Code, apiKey: _options.ApiKey);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or NotSupportedException)
            {
                // The provider may have billed this answer, so an unreadable one is not retried: a parse problem does not heal.
                throw PlatformCall.Failure(
                    Name, modelToAsk, PlatformErrorKind.InvalidResponse, false,
                    $"Unreadable {Name} response: {ex.Message} Body starts: {PlatformCall.Truncate(body.Length > 200 ? body[..200] : body)}",
                    rateLimit, elapsed, activity, (int)response.StatusCode, apiKey: _options.ApiKey, inner: ex);
            }

            return PlatformCall.Answer(Name, false, reply, elapsed, rateLimit, _prices, now, activity);
        }

        PlatformCallException Fail(PlatformErrorKind kind, bool transient, string message, Exception inner) =>
            PlatformCall.Failure(
                Name, modelToAsk, kind, transient, message, RateLimitSnapshot.None(_time.GetUtcNow()),
                _time.GetElapsedTime(started), activity, apiKey: _options.ApiKey, inner: inner);
    }

    protected abstract Task<HttpResponseMessage> SendAsync(string prompt, string model, CancellationToken cancellationToken);

    protected abstract RateLimitSnapshot ParseRateLimit(Func<string, string?> header, DateTimeOffset now);

    /// <summary>Refines the status-based classification from the provider's error body.</summary>
    protected abstract ProviderFailure ClassifyFailure(int status, PlatformErrorKind kind, bool transient, string body);

    /// <summary>Reads a 2xx body; throws <see cref="JsonException"/> when it is not the expected JSON.</summary>
    protected abstract ProviderReply ParseReply(string body, string requestedModel);

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
            yield return current;
    }

    private static string? Header(HttpResponseMessage response, string name)
    {
        if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            return values.FirstOrDefault();

        // Retry-After is parsed by HttpClient into a typed header; give it back in its wire form.
        if (string.Equals(name, "retry-after", StringComparison.OrdinalIgnoreCase) && response.Headers.RetryAfter is RetryConditionHeaderValue retry)
            return retry.Delta is { } delta ? delta.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : retry.Date?.ToString("r");
        return null;
    }
}

internal sealed record ProviderFailure(PlatformErrorKind Kind, bool Transient, string Message, string? Code = null, TimeSpan? RetryAfter = null);
