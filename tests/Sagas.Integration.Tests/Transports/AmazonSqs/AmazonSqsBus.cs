using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

/// <summary>A bare MassTransit bus on the transport (no Sagas hosting around it), started and stopped by the spec.</summary>
public sealed class AmazonSqsBus : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private AmazonSqsBus(ServiceProvider provider) => _provider = provider;

    public IServiceProvider Services => _provider;

    public IBusControl Bus => _provider.GetRequiredService<IBusControl>();

    public static AmazonSqsBus Create(AmazonSqsTransportOptions options, Action<IBusRegistrationConfigurator> register, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection().AddLogging(logging => logging.AddFilter(level => level >= LogLevel.Warning));
        services?.Invoke(collection);
        collection.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            x.DisableUsageTelemetry();
            register(x);
            x.UsingSagasAmazonSqs(options, (context, cfg) => cfg.ConfigureEndpoints(context));
        });
        return new AmazonSqsBus(collection.BuildServiceProvider(validateScopes: true));
    }

    public static async Task<AmazonSqsBus> StartAsync(AmazonSqsTransportOptions options, Action<IBusRegistrationConfigurator> register, Action<IServiceCollection>? services = null)
    {
        var bus = Create(options, register, services);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await bus.Bus.StartAsync(timeout.Token);
        return bus;
    }

    public async Task SendAsync<T>(string queue, T message)
        where T : class =>
        await (await Bus.GetSendEndpoint(new Uri($"queue:{queue}"))).Send(message);

    public async ValueTask DisposeAsync()
    {
        await Bus.StopAsync(CancellationToken.None);
        await _provider.DisposeAsync();
    }
}
