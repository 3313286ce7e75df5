namespace Sagas.Hosting.Messaging;

public enum TransportKind
{
    InMemory,
    RabbitMq,
    AmazonSqs,
}
