using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class ScanSessionRevisionIsConcurrencyToken : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The model only: EF now checks scan_sessions.revision on tracked writes, a column every writer already bumps.
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
        }
    }
}
