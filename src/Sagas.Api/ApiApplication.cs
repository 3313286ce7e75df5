using Sagas.Api.Assistant;
using Sagas.Api.Infrastructure;
using Sagas.Api.LlmJobs;
using Sagas.Api.PromptAnalyses;
using Sagas.Api.Realtime;
using Sagas.Api.ScanSessions;
using Sagas.Api.Schedules;
using Sagas.Api.Security;
using Sagas.Api.System;
using Sagas.Api.Webhooks;
using Sagas.Hosting;
using Sagas.ScanSessions;
using Scalar.AspNetCore;

namespace Sagas.Api;

public static class ApiApplication
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddSagas("sagas-api", bus => bus.AddRealtimeEvents());
        builder.AddApiInfrastructure();
        builder.AddApiSecurity();
        builder.Services.AddScheduleDirectory();
        builder.AddAssistant();
        builder.Services.AddOpenApi();
        // The API stores uploads and reads session rows whatever worker roles this process runs.
        builder.Services.AddScanSessions(builder.Configuration, builder.Environment.ContentRootPath);
        builder.Services.AddSingleton(ScanSessionApiOptions.Read(builder.Configuration));
        builder.Services.AddScoped<ScanSessionStarter>();
        builder.Services.AddRealtime(builder.Configuration);
        builder.Services.AddWebhooks();

        var app = builder.Build();
        // The dashboard's files are public and come before authorization on purpose; every API call they make carries the credential.
        app.UseDefaultFiles();
        app.UseStaticFiles();
        // Before authentication: on Kestrel a request is recognised as a WebSocket upgrade only once this middleware ran,
        // and the API key handler accepts ?access_token= on upgrades only (browsers cannot set headers on a WebSocket).
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseApiInfrastructure();
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs").AllowAnonymous();
        app.MapSagasOperationalEndpoints();
        app.MapSystemEndpoints();
        app.MapLlmJobEndpoints();
        app.MapWebhookEndpoints();
        app.MapScheduleEndpoints();
        app.MapScanSessionEndpoints();
        app.MapBlobFileEndpoints();
        app.MapRealtimeEndpoint();
        app.MapAssistantEndpoints();
        app.MapProjectEndpoints();
        app.MapPromptEndpoints();
        app.MapPromptAnalysisRunEndpoints();
        return app;
    }
}
