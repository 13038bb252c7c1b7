// swift-tools-version: 6.0
import PackageDescription

/// One entry per protocol plugin: the folder under `Sources/Plugins` and the module it builds.
/// Adding a plugin means adding its folder here and its type to `DetectorCatalog.all`;
/// `RegistryCompletenessTests` fails when the two disagree.
let pluginFolders = ["FastTrack", "Napster", "AudioGalaxy", "PortBlock"]

let pluginTargets: [Target] = pluginFolders.map { folder in
    .target(
        name: "\(folder)Plugin",
        dependencies: ["PluginAPI"],
        path: "Sources/Plugins/\(folder)",
        exclude: ["README.md"]
    )
}

let package = Package(
    name: "peerwall",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "peerwall", targets: ["peerwall"]),
        .executable(name: "peerwall-sim", targets: ["peerwall-sim"]),
        .executable(name: "peerwall-bench", targets: ["peerwall-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C libraries, used only by Host.
        .systemLibrary(name: "CNetfilterQueue", pkgConfig: "libnetfilter_queue",
                       providers: [.apt(["libnetfilter-queue-dev", "libmnl-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),

        // The contract between the host and the protocol plugins. Pure Swift.
        .target(name: "PluginAPI"),
        // Building packets and capture files: injection, simulators and test fixtures. Pure Swift.
        .target(name: "PacketKit", dependencies: ["PluginAPI"]),

        .target(
            name: "Host",
            dependencies: [
                "PluginAPI", "PacketKit",
                "CNetfilterQueue", "CPCRE2", "CLibXML2", "CPcap",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "DetectorCatalog", dependencies: ["PluginAPI"] + pluginFolders.map { .target(name: "\($0)Plugin") }),
        .target(name: "Simulators", dependencies: ["PluginAPI", "PacketKit"]),
        // The real engine with the shipped signatures and a driven clock, for tests.
        .target(name: "EngineTestKit", dependencies: ["Host", "PacketKit", "DetectorCatalog", "PluginAPI"]),

        .executableTarget(
            name: "peerwall",
            dependencies: [
                "Host", "DetectorCatalog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "peerwall-sim",
            dependencies: [
                "Simulators", "PacketKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "peerwall-bench", dependencies: ["Host", "DetectorCatalog", "PacketKit"]),

        .testTarget(name: "PluginAPITests", dependencies: ["PluginAPI", "PacketKit", "Simulators"]),
        // Fixtures are read from the source tree (located with #filePath), not bundled as resources.
        .testTarget(name: "HostTests", dependencies: ["Host", "PacketKit", "DetectorCatalog", "EngineTestKit", "Simulators"], exclude: ["Fixtures"]),
        .testTarget(name: "PluginTests",
                    dependencies: ["Host", "PacketKit", "DetectorCatalog", "Simulators", "EngineTestKit"]
                        + pluginFolders.map { .target(name: "\($0)Plugin") }),
        // The gateway lab, live: needs root and the built peerwall and peerwall-sim.
        .testTarget(name: "LabTests", dependencies: ["Host", "PluginAPI"]),
        .testTarget(name: "GoldenTests", dependencies: ["Host", "PacketKit", "DetectorCatalog", "Simulators"], exclude: ["Captures"]),
    ] + pluginTargets,
    swiftLanguageModes: [.v6]
)
