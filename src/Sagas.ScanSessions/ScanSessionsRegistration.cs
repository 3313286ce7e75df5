using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Messaging.SagaRepository;
using Sagas.Persistence;
using Sagas.ScanSessions.Consumers;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Fetching;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Sources;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage;

namespace Sagas.ScanSessions;

public static class ScanSessionsRegistration
{
    /// <summary>File processing, the blob store, fetching and the session services: what the API and the workers need.</summary>
    public static IServiceCollection AddScanSessions(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ScanSessionsOptions)))
            return services;

        services.AddValidatedOptions<ScanSessionsOptions>(configuration, ScanSessionsOptions.SectionName);
        services.AddScanFiles(configuration);
        services.AddSagasBlobStore(configuration, contentRoot);
        services.AddScanFileFetching(configuration);
        services.AddSingleton<ScanSourceExpander>();
        services.AddScoped<ScanFileRecorder>();
        services.AddScoped<FileBatchScanner>();
        services.AddScoped<ScanSessionSecrets>();
        services.AddSingleton<ScanArchiveCache>();
        services.AddSingleton<SessionMatchers>();
        return services;
    }

    /// <summary>The saga, dispatcher, report builder and cancel marker of the <c>scan-sessions</c> worker role.</summary>
    public static IBusRegistrationConfigurator AddScanSessionWorkers(this IBusRegistrationConfigurator x, SagaConcurrencyMode concurrency)
    {
        x.AddSagaStateMachine<ScanSessionStateMachine, ScanSessionState, ScanSessionStateDefinition>()
            .EfCoreRepository(repository => repository.ConcurrencyMode = concurrency);
        x.AddConsumer<ScanSessionDispatcher, ScanSessionDispatcherDefinition>();
        x.AddConsumer<BuildScanReportConsumer, BuildScanReportConsumerDefinition>();
        x.AddConsumer<CancelScanSessionConsumer, CancelScanSessionConsumerDefinition>();
        x.AddConsumer<BuildScanReportFaultConsumer, BuildScanReportFaultConsumerDefinition>();
        return x;
    }

    /// <summary>The file workers of the <c>scan-files</c> role; run as many of these processes as the load needs.</summary>
    public static IBusRegistrationConfigurator AddScanFileWorkers(this IBusRegistrationConfigurator x)
    {
        x.AddConsumer<ScanFileChunkConsumer, ScanFileChunkConsumerDefinition>();
        x.AddConsumer<ScanFileConsumer, ScanFileConsumerDefinition>();
        x.AddConsumer<ScanFileFaultConsumer, ScanFileFaultConsumerDefinition>();
        return x;
    }
}
