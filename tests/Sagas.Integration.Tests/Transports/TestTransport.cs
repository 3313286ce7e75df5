using Sagas.Integration.Tests.Infrastructure;

namespace Sagas.Integration.Tests.Transports;

/// <summary>
/// A broker a spec runs its hosts on, given to them as <c>Messaging:*</c> settings, so one spec body can run on every
/// transport (<c>[Theory]</c> over the transports' names, a class fixture per transport).
/// </summary>
public interface ITestTransport
{
    /// <summary>The host configuration that points a Sagas process at this broker.</summary>
    IReadOnlyDictionary<string, string?> HostSettings { get; }
}

/// <summary>The throwaway RabbitMQ of tests/run-tests.sh, in a virtual host of the fixture's own.</summary>
public sealed class RabbitMqTestTransport : ITestTransport, IAsyncLifetime
{
    private readonly RabbitMqVirtualHost _virtualHost = new();

    public IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Messaging:Transport"] = "RabbitMq",
        ["Messaging:RabbitMq:Uri"] = _virtualHost.Address.ToString(),
    };

    public Task InitializeAsync() => _virtualHost.InitializeAsync();

    public Task DisposeAsync() => _virtualHost.DisposeAsync();
}
