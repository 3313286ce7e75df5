using Sagas.Hosting;
using Sagas.Workflows;

return SagasHost.Run(args, static args =>
{
    // A web host only for /health and /metrics; the work happens in the bus consumers AddSagas registers.
    var builder = WebApplication.CreateSlimBuilder(args);
    builder.AddSagas("sagas-worker", SagasWorkflows.Catalog);
    var app = builder.Build();
    app.MapSagasOperationalEndpoints();
    return app;
});
