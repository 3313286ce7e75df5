using MassTransit;
using Sagas.Contracts.Retention;

namespace Sagas.Messaging.Retention;

/// <summary>Runs the retention rules when the recurring <c>retention</c> schedule fires.</summary>
public sealed class RunRetentionConsumer(RetentionRunner runner) : IConsumer<RunRetention>
{
    public Task Consume(ConsumeContext<RunRetention> context) => runner.RunAsync(context.CancellationToken);
}

public sealed class RunRetentionConsumerDefinition : ConsumerDefinition<RunRetentionConsumer>
{
    // One run at a time per process; the rules themselves tolerate a second process running beside it.
    // No retry: a rule that fails is logged by the runner and tried again at the next tick.
    public RunRetentionConsumerDefinition() => ConcurrentMessageLimit = 1;
}
