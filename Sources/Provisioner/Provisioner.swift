import ArgumentParser

@main
struct Provisioner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provisioner",
        abstract: "Control plane for managed Odoo hosting.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, KeysCommand.self, AuditCommand.self, DevKeysCommand.self,
            DevTokenCommand.self, DevRegionCommand.self, TenantURLCommand.self, WorkerCommand.self, GitOpsCommand.self, RenderCommand.self,
        ]
    )
}
