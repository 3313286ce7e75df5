using System.ComponentModel.DataAnnotations;
using System.Globalization;
using MassTransit;
using Sagas.Core.Configuration;
using ValidationResult = System.ComponentModel.DataAnnotations.ValidationResult;

namespace Sagas.Messaging;

/// <summary>
/// Section <c>Messaging:Redelivery</c>: how long a message that failed on a transient database error waits, out of the
/// queue, before each new delivery. The endpoint retries (<see cref="DatabaseRetryExtensions"/>) cover seconds; these
/// delays cover an outage of minutes.
/// </summary>
public sealed class MessageRedeliveryOptions : IValidatableObject
{
    public const string SectionName = "Messaging:Redelivery";

    /// <summary>The longest delay a redelivery may be given; beyond that the message belongs to an operator.</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromHours(12);

    public const int MaxRedeliveries = 20;

    public const string DefaultIntervals = "00:00:30,00:01:00,00:02:00,00:05:00,00:10:00";

    /// <summary>False: after its endpoint retries a message goes to <c>&lt;queue&gt;_error</c> at once.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The delay before each redelivery, comma separated (<c>hh:mm:ss</c>): one redelivery per entry, then the message
    /// goes to <c>&lt;queue&gt;_error</c>. The default waits 30 s, 1, 2, 5 and 10 minutes: about 18 minutes in all.
    /// </summary>
    public string Intervals { get; set; } = DefaultIntervals;

    /// <summary>The parsed <see cref="Intervals"/>; empty when disabled.</summary>
    public IReadOnlyList<TimeSpan> ParsedIntervals() => Enabled && TryParse(Intervals, out var intervals, out _) ? intervals : [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
            yield break;
        if (!TryParse(Intervals, out var intervals, out var problem))
            yield return new ValidationResult($"{validationContext.Key(nameof(Intervals))} {problem}");
        else if (intervals.Count > MaxRedeliveries)
            yield return new ValidationResult($"{validationContext.Key(nameof(Intervals))} lists {intervals.Count} delays; at most {MaxRedeliveries} are allowed.");
    }

    private static bool TryParse(string? text, out IReadOnlyList<TimeSpan> intervals, out string problem)
    {
        var parsed = new List<TimeSpan>();
        intervals = parsed;
        problem = "";
        var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            problem = "is empty; list at least one delay (for example 00:00:30,00:01:00) or set Enabled to false.";
            return false;
        }

        foreach (var part in parts)
        {
            if (!TimeSpan.TryParse(part, CultureInfo.InvariantCulture, out var interval))
            {
                problem = $"has '{part}', which is not a duration (hh:mm:ss).";
                return false;
            }

            if (interval < TimeSpan.FromSeconds(1) || interval > MaxInterval)
            {
                problem = $"has {interval}; each delay must be between 00:00:01 and {MaxInterval}.";
                return false;
            }

            parsed.Add(interval);
        }

        return true;
    }
}

/// <summary>How a redelivery waits: where the transport can delay a message itself, or through the scheduler queue.</summary>
public enum RedeliveryPath
{
    /// <summary>A scheduled send through the bus's message scheduler (the Quartz scheduler queue): RabbitMQ, in-memory.</summary>
    Scheduler,

    /// <summary>The transport's own delay (Amazon SQS <c>DelaySeconds</c>, at most 15 minutes): needs no database.</summary>
    TransportDelay,
}

/// <summary>
/// The redelivery every database endpoint gets (<see cref="DatabaseRetryExtensions.UseDatabaseRetry"/>), registered by
/// the host that chose the transport. Without it (test harnesses) endpoints only retry in place.
/// </summary>
public sealed record DatabaseRedelivery(IReadOnlyList<TimeSpan> Intervals, RedeliveryPath Path)
{
    /// <summary>
    /// Adds the redelivery to <paramref name="endpoint"/>. Call it before the endpoint's retry so that it wraps it: a
    /// message is redelivered only once its retries in place are spent, and its fault is published only when the last
    /// redelivery failed too.
    /// </summary>
    internal void Apply(IReceiveEndpointConfigurator endpoint)
    {
        if (Intervals.Count == 0)
            return;
        var intervals = Intervals.ToArray();
        void Configure(IRetryConfigurator redelivery)
        {
            // A redelivery is the same message: claims (LLM submission, platform asks), fault consumers, failed-message
            // rows and the realtime filter all key on the message id, and a new id per redelivery made a message that
            // claimed its work before the database went away a stranger to its own claim when it came back. MassTransit
            // hands us its redelivery configurator behind the retry interface; it gives every redelivery a new id
            // unless told otherwise. Our transports do no broker-side de-duplication that a reused id could trip.
            if (redelivery is not IRedeliveryConfigurator sameMessage)
                throw new InvalidOperationException($"MassTransit's redelivery configurator ({redelivery.GetType().Name}) no longer lets a redelivery keep its message id.");
            sameMessage.ReplaceMessageId = false;
            // Only what waiting can cure: a database (or its connection) that is away. A bug fails the same way later.
            redelivery.Handle<Exception>(DatabaseErrors.IsTransient);
            redelivery.Intervals(intervals);
        }

        if (Path == RedeliveryPath.TransportDelay)
            endpoint.UseDelayedRedelivery(redelivery => Configure(redelivery));
        else
            endpoint.UseScheduledRedelivery(redelivery => Configure(redelivery));
    }
}
