using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class PlatformRateLimits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "platform_rate_limits",
                columns: table => new
                {
                    platform = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    request_horizon = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    token_horizon = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    paused_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    request_floor_seconds = table.Column<double>(type: "double precision", nullable: false),
                    request_floor_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    token_floor_seconds = table.Column<double>(type: "double precision", nullable: false),
                    token_floor_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_slot = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_platform_rate_limits", x => x.platform);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "platform_rate_limits");
        }
    }
}
