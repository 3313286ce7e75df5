using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Messaging.SagaRepository;

public static class EfCoreSagaRepositoryRegistrationExtensions
{
    /// <summary>
    /// Keeps the saga's instances in a relational table through EF Core, the way MassTransit's own repositories plug in:
    /// <c>x.AddSagaStateMachine&lt;M, S&gt;().EfCoreRepository(r =&gt; r.ConcurrencyMode = SagaConcurrencyMode.Pessimistic)</c>.
    /// The state type must be mapped in the DbContext (derive its map from <see cref="SagaStateMap{TSaga}"/>).
    /// </summary>
    public static ISagaRegistrationConfigurator<TSaga> EfCoreRepository<TSaga>(
        this ISagaRegistrationConfigurator<TSaga> configurator,
        Action<EfCoreSagaRepositoryConfigurator>? configure = null)
        where TSaga : class, ISaga
    {
        var options = new EfCoreSagaRepositoryConfigurator();
        configure?.Invoke(options);
        var settings = new EfCoreSagaRepositorySettings<TSaga>(options.DbContextType, options.ConcurrencyMode, options.GroupCommit);

        configurator.Repository(repository =>
        {
            repository.AddSingleton(settings);
            repository.RegisterSagaRepository<TSaga, DbContext, SagaConsumeContextFactory<DbContext, TSaga>, EfCoreSagaRepositoryContextFactory<TSaga>>();
            repository.RegisterQuerySagaRepository<TSaga, EfCoreSagaRepositoryContextFactory<TSaga>>();
            repository.RegisterLoadSagaRepository<TSaga, EfCoreSagaRepositoryContextFactory<TSaga>>();
        });

        return configurator;
    }
}
