using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sagas.Persistence.SagaRepository;

namespace Sagas.LlmJobs.Consumers;

internal static class LlmJobEndpoints
{
    /// <summary>High-priority jobs overtake low-priority ones on RabbitMQ (classic queues; quorum queues ignore it).</summary>
    public static void UsePriorities(IReceiveEndpointConfigurator endpoint)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.SetQueueArgument("x-max-priority", (byte)LlmJobPriorityLevels.Highest);
    }

    /// <summary>Transient database errors (lock waits, a restarting server, an insert race) retried with a fresh DbContext.</summary>
    public static void UseDatabaseRetry(IReceiveEndpointConfigurator endpoint, IRegistrationContext context)
    {
        // Two copies of one submission consumed at once both find no job and both insert it: the loser's unique
        // violation is not a transient error, but its next attempt finds the job and carries on as a redelivery.
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<DbUpdateException>(IsDuplicateKey);
            retry.Intervals(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1));
        });
        endpoint.UseSagaPersistenceRetry(context);
    }

    private static bool IsDuplicateKey(DbUpdateException exception) => exception.InnerException is
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } or SqliteException { SqliteErrorCode: 19 };
}

internal static class LlmJobPriorityLevels
{
    public const int Highest = 2;
}
