#!/usr/bin/env node
// The Booking/Airmiles story with the AWS CDK: Booking (222222222222) publishes its topic's ARN as an
// export and deploys the reader role; Airmiles (333333333333) reads it through remote-exports and
// subscribes a queue. `npm install aws-cdk-lib constructs remote-exports-cdk`, then
// `cdk synth -a "node app.js"` (CENTRAL_ACCOUNT names the platform team's account).
const { App, CfnOutput, Stack } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const sns = require('aws-cdk-lib/aws-sns');
const sqs = require('aws-cdk-lib/aws-sqs');
const { RemoteExports, RemoteExportsReaderRole } = require('remote-exports-cdk');

const central = process.env.CENTRAL_ACCOUNT ?? '111111111111';
const region = 'eu-west-1';
const app = new App();

// Publisher: the topic, its export, and the role remote-exports reads it through.
const booking = new Stack(app, 'booking-lambda', { env: { account: '222222222222', region } });
const topic = new sns.Topic(booking, 'BookingTopic', { enforceSSL: true });
new CfnOutput(booking, 'BookingTopicArn', { value: topic.topicArn, exportName: 'booking-lambda-BookingTopicArn' });
topic.addToResourcePolicy(
  new iam.PolicyStatement({
    actions: ['sns:Subscribe'],
    principals: [new iam.AccountPrincipal('333333333333')],
    resources: [topic.topicArn],
  }),
);
const reader = new RemoteExportsReaderRole(booking, 'Reader', {
  functionRoleArns: [`arn:aws:iam::${central}:role/remote-exports-RemoteExportsRole`],
  allowedConsumerAccounts: ['333333333333'],
});
new CfnOutput(booking, 'ReaderRoleArn', { value: reader.roleArn });

// Consumer: the lookup, and a queue subscribed to Booking's topic by the value it read.
const airmiles = new Stack(app, 'airmiles', { env: { account: '333333333333', region } });
const lookup = new RemoteExports(airmiles, 'Lookup', {
  centralAccount: central,
  roleArn: 'arn:aws:iam::222222222222:role/remote-exports-reader',
  exportNames: ['booking-lambda-BookingTopicArn'],
});
const bookingTopicArn = lookup.exportValue('booking-lambda-BookingTopicArn');
const queue = new sqs.Queue(airmiles, 'MilesQueue', { enforceSSL: true });
queue.addToResourcePolicy(
  new iam.PolicyStatement({
    actions: ['sqs:SendMessage'],
    principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
    resources: [queue.queueArn],
    conditions: { ArnEquals: { 'aws:SourceArn': bookingTopicArn } },
  }),
);
new sns.Subscription(airmiles, 'BookingEvents', {
  topic: sns.Topic.fromTopicArn(airmiles, 'Booking', bookingTopicArn),
  protocol: sns.SubscriptionProtocol.SQS,
  endpoint: queue.queueArn,
});

app.synth();
