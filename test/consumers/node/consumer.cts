// CommonJS TypeScript: require() of the ESM-only package (Node >= 20.19, TypeScript >= 5.8).
import lifeline = require('lifeline-ws')
import server = require('lifeline-ws/server')

const conn: lifeline.Connection = lifeline.createConnection({ url: 'ws://127.0.0.1:8080/', autoConnect: false })
const helper: server.HeartbeatServer = server.createHeartbeatServer({ port: 0 })

export = { conn, helper }
