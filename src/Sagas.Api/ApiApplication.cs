using Sagas.Api.System;
using Sagas.Hosting;
using Scalar.AspNetCore;

namespace Sagas.Api;

public static class ApiApplication
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddSagas("sagas-api");
        builder.Services.AddOpenApi();
        builder.Services.AddProblemDetails();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        app.MapScalarApiReference("/docs");
        app.MapSagasOperationalEndpoints();
        app.MapSystemEndpoints();
        return app;
    }
}
