using MassTransit;

namespace Sagas.Messaging.SagaRepository;

/// <summary>
/// Another delivery created the same saga instance first (its INSERT hit the primary key). Transient: the retry loads
/// the instance that won and applies this event to it.
/// </summary>
public sealed class SagaConcurrencyException : SagaException
{
    public SagaConcurrencyException(string message, Type sagaType, Type messageType, Guid correlationId, Exception innerException)
        : base(message, sagaType, messageType, correlationId, innerException)
    {
    }

    public SagaConcurrencyException()
    {
    }

    public SagaConcurrencyException(string message)
        : base(message, typeof(ISaga), Guid.Empty)
    {
    }

    public SagaConcurrencyException(string message, Exception innerException)
        : base(message, typeof(ISaga), Guid.Empty, innerException)
    {
    }
}
