import PacketKit
import PluginAPI

/// Ordinary FTP, the traffic AudioGalaxy shares port 21 with: it must pass untouched.
public enum FTPScenarios {
    public static var all: [Scenario] { [session] }

    /// An anonymous passive-mode download: the server's `220 ` banner, USER, PASS, TYPE, PASV,
    /// RETR, the data connection, QUIT.
    public static let session = Scenario(
        name: "ftp-session",
        summary: "Ordinary anonymous FTP on port 21: banner, USER/PASS, PASV, RETR over a data connection, QUIT"
    ) {
        let client = IPAddress(192, 168, 1, 40)
        let server = IPAddress(198, 51, 100, 80)
        var t = CaptureTimeline()
        var control = TCPConversation(client: Endpoint(client, 40_500), server: Endpoint(server, 21),
                                      clientISN: 0x3A00_0000, serverISN: 0x7A00_0000)
        t.open(&control)
        let dialogue: [(TCPConversation.Side, String)] = [
            (.server, "220 ProFTPD Server (Example FTP) [198.51.100.80]\r\n"),
            (.client, "USER anonymous\r\n"),
            (.server, "331 Anonymous login ok, send your complete email address as your password\r\n"),
            (.client, "PASS guest@example.org\r\n"),
            (.server, "230 Anonymous access granted, restrictions apply\r\n"),
            (.client, "TYPE I\r\n"),
            (.server, "200 Type set to I\r\n"),
            (.client, "PASV\r\n"),
            (.server, "227 Entering Passive Mode (198,51,100,80,195,80).\r\n"),
            (.client, "RETR pub/README\r\n"),
        ]
        for (side, line) in dialogue { t.send(&control, Array(text: line), from: side) }

        var data = TCPConversation(client: Endpoint(client, 40_501), server: Endpoint(server, 50_000),
                                   clientISN: 0x3B00_0000, serverISN: 0x7B00_0000)
        t.open(&data)
        t.send(&control, Array(text: "150 Opening BINARY mode data connection for pub/README (3000 bytes)\r\n"), from: .server)
        let readme = String(repeating: "This mirror carries free software releases. Please use a mirror near you.\n", count: 41)
        t.send(&data, Array(Array(text: readme).prefix(3000)), from: .server)
        t.close(&data, by: .server)
        t.send(&control, Array(text: "226 Transfer complete\r\n"), from: .server)
        t.send(&control, Array(text: "QUIT\r\n"), from: .client)
        t.send(&control, Array(text: "221 Goodbye.\r\n"), from: .server)
        t.close(&control, by: .server)
        return t.frames
    }
}
