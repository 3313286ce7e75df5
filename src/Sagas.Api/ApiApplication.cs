using Sagas.Api.Assistant;
using Sagas.Api.BulkOperations;
using Sagas.Api.Dashboard;
using Sagas.Api.Infrastructure;
using Sagas.Api.Realtime;
using Sagas.Api.Runs;
using Sagas.Api.Schedules;
using Sagas.Api.Security;
using Sagas.Api.Storage;
using Sagas.Api.Usage;
using Sagas.Api.System;
using Sagas.Hosting;
using Sagas.Modules;
using Sagas.Modules.Realtime;
using Sagas.Workflows;
using Scalar.AspNetCore;

namespace Sagas.Api;

public static class ApiApplication
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var workflows = SagasWorkflows.Catalog;
        var realtime = new RealtimeRegistry();
        var api = new WorkflowApi(builder.Services, builder.Configuration, builder.Environment.ContentRootPath, realtime);
        foreach (var module in workflows.Modules)
            module.AddApi(api);

        builder.AddSagas("sagas-api", workflows, bus => bus.AddRealtimeEvents(realtime));
        builder.AddApiInfrastructure();
        builder.AddApiSecurity();
        builder.Services.AddScheduleDirectory();
        builder.Services.AddBulkOperations(builder.Configuration);
        builder.AddAssistant();
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Sagas API";
            document.Info.Description = "Every route takes the X-Api-Key header (or a bearer token); docs/api.md has the conventions.";
            return Task.CompletedTask;
        }));
        builder.Services.AddRealtime(builder.Configuration, realtime);

        var app = builder.Build();
        // The dashboard's files are public and come before authorization on purpose; every API call they make carries the credential.
        app.UseDashboardFiles(workflows);
        // Before authentication: on Kestrel a request is recognised as a WebSocket upgrade only once this middleware ran,
        // and the API key handler accepts ?access_token= on upgrades only (browsers cannot set headers on a WebSocket).
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseApiInfrastructure();
        app.MapOpenApi().AllowAnonymous();
        // For reading and trying our API only: the vendor's deploy and SDK-generation toolbar, its AI agent, MCP,
        // telemetry and CDN fonts stay off (an operator's browser should not call out to the vendor from our docs page).
        app.MapScalarApiReference("/docs", reference =>
        {
            reference.DefaultFonts = false;
            reference.ShowDeveloperTools = DeveloperToolsVisibility.Never;
            reference.Agent = new ScalarAgentOptions { Disabled = true };
            reference.Mcp = new ScalarMcpOptions { Disabled = true };
            reference.Telemetry = false;
        }).AllowAnonymous();
        app.MapSagasOperationalEndpoints();
        app.MapSystemEndpoints();
        app.MapRunEndpoints();
        app.MapBulkOperationEndpoints();
        app.MapUsageEndpoints();
        app.MapScheduleEndpoints();
        app.MapBlobFileEndpoints();
        app.MapRealtimeEndpoint();
        app.MapAssistantEndpoints();
        foreach (var module in workflows.Modules)
            module.MapEndpoints(app);
        return app;
    }
}
