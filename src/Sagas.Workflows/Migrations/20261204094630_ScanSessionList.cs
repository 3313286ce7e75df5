using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class ScanSessionList : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_scan_sessions_status_created_at",
                table: "scan_sessions",
                columns: new[] { "status", "created_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_scan_sessions_status_created_at",
                table: "scan_sessions");
        }
    }
}
