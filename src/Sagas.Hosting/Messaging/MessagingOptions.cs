using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;
using Sagas.Messaging;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Hosting.Messaging;

public sealed class MessagingOptions : IValidatableObject
{
    public const string SectionName = "Messaging";

    /// <summary>InMemory (single process), RabbitMq, or AmazonSqs.</summary>
    [EnumName(typeof(TransportKind))]
    public string Transport { get; set; } = nameof(TransportKind.InMemory);

    /// <summary>Queue that receives MassTransit's scheduling messages on brokers without native delay.</summary>
    [Required]
    public string SchedulerQueue { get; set; } = "scheduler";

    [ValidatedOnlyWhen(nameof(UsesRabbitMq))]
    public RabbitMqTransportOptions RabbitMq { get; set; } = new();

    [ValidatedOnlyWhen(nameof(UsesAmazonSqs))]
    public AmazonSqsTransportOptions AmazonSqs { get; set; } = new();

    /// <summary>Redelivery after minutes of a message that failed on a transient database error (<c>Messaging:Redelivery</c>).</summary>
    public MessageRedeliveryOptions Redelivery { get; set; } = new();

    public TransportKind ParseTransport() => ConfiguredName.Parse<TransportKind>(Transport, $"{SectionName}:{nameof(Transport)}");

    private bool UsesRabbitMq => Uses(TransportKind.RabbitMq);

    private bool UsesAmazonSqs => Uses(TransportKind.AmazonSqs);

    private bool Uses(TransportKind transport) => ConfiguredName.TryParse<TransportKind>(Transport, out var kind) && kind == transport;

    /// <summary>
    /// Where a redelivery waits on this transport. Amazon SQS delays the message itself (<c>DelaySeconds</c>), so a
    /// redelivery needs neither the scheduler nor the database it stores in; RabbitMQ (no delayed-exchange plugin) and
    /// the in-memory transport go through the bus's message scheduler.
    /// </summary>
    public RedeliveryPath ChooseRedeliveryPath() => UsesAmazonSqs ? global::Sagas.Messaging.RedeliveryPath.TransportDelay : global::Sagas.Messaging.RedeliveryPath.Scheduler;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var longest = Redelivery.ParsedIntervals().DefaultIfEmpty().Max();
        if (UsesAmazonSqs && longest > TimeSpan.FromSeconds(SqsMessage.MaxDelaySeconds))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(Redelivery))}:{nameof(MessageRedeliveryOptions.Intervals)} has {longest}; on Amazon SQS a redelivery " +
                $"waits in the queue (DelaySeconds), at most {TimeSpan.FromSeconds(SqsMessage.MaxDelaySeconds)}.");
        }
    }
}

public sealed class RabbitMqTransportOptions : IValidatableObject
{
    /// <summary>
    /// Full broker address, e.g. <c>amqps://user:pass@b-1234.mq.eu-west-1.amazonaws.com:5671/vhost</c>.
    /// When set it wins over Host, Port and VirtualHost; an amqps scheme turns TLS on.
    /// </summary>
    public string? Uri { get; set; }

    public string Host { get; set; } = "localhost";

    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    public string Username { get; set; } = "guest";

    public string Password { get; set; } = "guest";

    /// <summary>TLS with the system trust store; required by Amazon MQ for RabbitMQ.</summary>
    public bool UseTls { get; set; }

    /// <summary>Name the server certificate must carry; defaults to the host name.</summary>
    public string? TlsServerName { get; set; }

    /// <summary>Quorum queues replicate across a cluster; they do not support message priorities.</summary>
    public bool QuorumQueues { get; set; }

    [Range(1, 10_000)]
    public int PrefetchCount { get; set; } = 64;

    // The URI is not echoed: it may carry the password.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(Uri))
        {
            if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps" or "rabbitmq" or "rabbitmqs"))
            {
                yield return new ValidationResult(
                    $"{validationContext.Key(nameof(Uri))} must be an absolute amqp:// or amqps:// address, for example " +
                    "amqps://user:password@broker.example.com:5671/vhost.");
            }
        }
        else if (string.IsNullOrWhiteSpace(Host))
        {
            yield return new ValidationResult($"{validationContext.Key(nameof(Host))} is empty; set Host or Uri.");
        }
    }
}
