using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Hosting.Messaging;

public sealed class MessagingOptions
{
    public const string SectionName = "Messaging";

    /// <summary>InMemory (single process), RabbitMq, or AmazonSqs.</summary>
    public string Transport { get; set; } = nameof(TransportKind.InMemory);

    /// <summary>Queue that receives MassTransit's scheduling messages on brokers without native delay.</summary>
    [Required]
    public string SchedulerQueue { get; set; } = "scheduler";

    public RabbitMqTransportOptions RabbitMq { get; set; } = new();

    public AmazonSqsTransportOptions AmazonSqs { get; set; } = new();

    public TransportKind ParseTransport() => ConfiguredName.Parse<TransportKind>(Transport, $"{SectionName}:{nameof(Transport)}");

    public static MessagingOptions Read(IConfiguration configuration)
    {
        var options = new MessagingOptions();
        configuration.GetSection(SectionName).Bind(options);
        return options;
    }
}

public sealed class RabbitMqTransportOptions
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
}
